#!/usr/bin/env node
// The compiled code lives in dist/ (npm run build).
import '../dist/src/cli/entry.js';
