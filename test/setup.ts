/** Every test runs with the crypto backend the CLI and the server install. */
import '../src/core/crypto-node.js';
