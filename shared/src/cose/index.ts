export * from './sign1.js';
