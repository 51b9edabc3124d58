/**
 * Bundles a module for the browser with esbuild, as a web page would load it, and reports
 * every import of a Node built-in it meets — static, dynamic or require — instead of
 * failing on the first: the verifier and the explorer must reach none.
 */
import { builtinModules } from 'node:module';
import { relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

export interface BrowserBundle {
  code: Uint8Array;
  gzipBytes: number;
  /** "importer → specifier (kind)" for each Node built-in the bundle would need */
  nodeImports: string[];
  /** every source file and package file that went into the bundle, relative to the project */
  inputs: string[];
}

const BUILTINS = new Set(builtinModules);

/** Marks Node built-ins external and records them, so one run names them all. */
function recordNodeImports(found: string[]): Plugin {
  return {
    name: 'record-node-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!args.path.startsWith('node:') && !BUILTINS.has(args.path.split('/')[0] as string)) return undefined;
        found.push(`${relative(process.cwd(), args.importer)} → ${args.path} (${args.kind})`);
        return { path: args.path, external: true };
      });
    },
  };
}

export async function bundleForBrowser(entry: string, opts: { outfile?: string } = {}): Promise<BrowserBundle> {
  const nodeImports: string[] = [];
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    metafile: true,
    write: false,
    logLevel: 'silent',
    ...(opts.outfile ? { outfile: opts.outfile } : { outdir: '.' }),
    plugins: [recordNodeImports(nodeImports)],
  });
  const code = result.outputFiles.find((f) => f.path.endsWith('.js'))?.contents;
  if (!code) throw new Error(`esbuild wrote no JavaScript for ${entry}`);
  return { code, gzipBytes: gzipSync(code, { level: 9 }).length, nodeImports, inputs: Object.keys(result.metafile.inputs) };
}
