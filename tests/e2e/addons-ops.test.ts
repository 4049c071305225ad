// Add-ons end to end, second half: upgrade, incident, backup while writing and restore (addons-suite.ts).
import { addonsSuite } from './addons-suite.js';

addonsSuite('ops');
