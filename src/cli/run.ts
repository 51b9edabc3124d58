/** Runs the CLI from source (tests and scripts use this through tsx). */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
