export { parseJUnitFiles } from './junit.js';
