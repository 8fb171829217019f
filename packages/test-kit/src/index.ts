export { type PrivateShmOptions, type PrivateShmResult, runWithPrivateShm } from './private-shm.js';
