/**
 * A Swarm node label as hiy accepts it, on nodes (hiy nodes:label) and in an app's placement
 * (hiy update --node-label): Docker's own key rules, kept to what a shell, a URL and a Swarm
 * constraint (`node.labels.<key>==<value>`) carry safely.
 */
export const LABEL_KEY = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;
export const LABEL_VALUE = /^[A-Za-z0-9._:/-]{0,128}$/;

export const LABEL_KEY_RULE = 'lower-case letters, digits, ".", "_" or "-", at most 64, starting and ending with a letter or digit (for example role)';
export const LABEL_VALUE_RULE = 'up to 128 letters, digits or . _ : / -';
