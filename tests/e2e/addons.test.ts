// Add-ons end to end, first half: names, deploys, restarts, crashes, isolation, dumps, destroy (addons-suite.ts).
import { addonsSuite } from './addons-suite.js';

addonsSuite('core');
