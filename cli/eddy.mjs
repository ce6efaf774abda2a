#!/usr/bin/env node
// The `eddy` bin (package.json): runs cli/main.ts through tsx's loader in this process, as `npm start` runs
// local/main.ts with tsx, so there is no build step and no second Node process between the shell and the CLI.
import { register } from 'tsx/esm/api';

// `eddy ... | head` closes the pipe early: stop quietly, as other command-line tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
