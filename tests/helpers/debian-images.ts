// Moved to harness/ so bench/builds can use it too (bench imports nothing from tests/).
export * from '../../harness/debian-images.js';
