import type { Command } from 'commander';
import { action, printJson } from '../output.ts';
import { StdchkError } from '../../errors/index.ts';

function parseDays(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 36_500) {
    throw new StdchkError(
      'INVALID_ARGUMENT',
      `--days must be a whole number from 1 to 36500, not ${JSON.stringify(value)}`,
    );
  }
  return n;
}

/**
 * `stdchk certs ca` and `stdchk certs node`: a cluster CA and node
 * certificates for mutual TLS (docs/security.md). The X.509 code loads only
 * here, so other commands do not pay for it.
 */
export function registerCertsCommands(program: Command): void {
  const certs = program
    .command('certs')
    .description('make a cluster CA and node certificates for mutual TLS (--tls-ca, --tls-cert, --tls-key)');

  certs
    .command('ca')
    .description(
      'make a cluster CA: OUT/ca.crt (give it to every node) and OUT/ca.key (mode 0600; keep it off the nodes)',
    )
    .requiredOption('--out <dir>', 'folder to write ca.crt and ca.key to (created with mode 0700 if missing)')
    .option('--name <cn>', "the CA's common name", 'stdchk cluster CA')
    .option('--days <n>', 'validity in days', '3650')
    .option('--force', 'replace existing files')
    .option('--json', 'print the files written as JSON')
    .action(
      action(async (opts: { out: string; name: string; days: string; force?: boolean; json?: boolean }) => {
        const { writeCa } = await import('../../certs/index.ts');
        const days = parseDays(opts.days);
        if (opts.name.length === 0 || opts.name.length > 64 || /[\n\0]/.test(opts.name)) {
          throw new StdchkError('INVALID_ARGUMENT', '--name must be 1-64 characters on one line');
        }
        const files = await writeCa(opts.out, {
          name: opts.name,
          ...(days ? { days } : {}),
          force: !!opts.force,
        });
        if (opts.json) printJson(files);
        else
          process.stdout.write(
            `wrote ${files.cert} and ${files.key} (keep the key secret: it signs node certificates)\n`,
          );
      }),
    );

  certs
    .command('node')
    .description(
      'make a certificate signed by the cluster CA for one node (or user): OUT/NAME.crt, OUT/NAME.key (0600), OUT/ca.crt',
    )
    .requiredOption('--ca <dir>', 'folder holding the CA (ca.crt and ca.key, from `stdchk certs ca`)')
    .requiredOption('--name <name>', "node name: the certificate's CN and the file names")
    .option(
      '--san <list>',
      'comma-separated IP addresses and DNS names the node is dialled at (default: NAME)',
    )
    .requiredOption('--out <dir>', 'folder to write the files to (created with mode 0700 if missing)')
    .option('--days <n>', 'validity in days', '825')
    .option('--force', 'replace existing files')
    .option('--json', 'print the files written and the SANs as JSON')
    .action(
      action(
        async (opts: {
          ca: string;
          name: string;
          san?: string;
          out: string;
          days: string;
          force?: boolean;
          json?: boolean;
        }) => {
          const { writeNodeCert, parseSanList, checkName } = await import('../../certs/index.ts');
          const days = parseDays(opts.days);
          checkName(opts.name);
          const sans = parseSanList(opts.san ?? opts.name);
          const files = await writeNodeCert(opts.ca, opts.out, {
            name: opts.name,
            sans,
            ...(days ? { days } : {}),
            force: !!opts.force,
          });
          if (opts.json) printJson({ ...files, sans: sans.map((s) => s.value) });
          else {
            process.stdout.write(
              `wrote ${files.cert}, ${files.key} and ${files.ca} for ${opts.name} (${sans.map((s) => s.value).join(', ')});\n` +
                `run the node with --tls-ca ${files.ca} --tls-cert ${files.cert} --tls-key ${files.key}\n`,
            );
          }
        },
      ),
    );
}
