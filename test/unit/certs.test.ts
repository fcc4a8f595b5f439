import test from 'ava';
import path from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cleanupAll, runCli, tempDir } from '../helpers/grid.ts';
import { makeCa, makeNodeCert, parseSanList } from '../../src/certs/index.ts';
import { loadTls, resolveTls } from '../../src/rpc/credentials.ts';
import { tlsFailure } from '../../src/errors/index.ts';

test.after.always(cleanupAll);

const mode = (f: string) => statSync(f).mode & 0o777;
const cert = (f: string) => new X509Certificate(readFileSync(f));

test('stdchk certs ca and node: files, 0600 keys, a chain that verifies, the SANs asked for', async (t) => {
  const dir = tempDir();
  const caDir = path.join(dir, 'ca');
  const ca = await runCli(['certs', 'ca', '--out', caDir]);
  t.is(ca.code, 0, ca.stderr);
  t.is(mode(path.join(caDir, 'ca.key')), 0o600);
  t.is(mode(caDir), 0o700);
  const caCert = cert(path.join(caDir, 'ca.crt'));
  t.true(caCert.ca);
  t.true(caCert.verify(caCert.publicKey), 'the CA is self-signed');
  t.true(caCert.checkPrivateKey(createPrivateKey(readFileSync(path.join(caDir, 'ca.key')))));

  const out = path.join(dir, 'node1');
  const node = await runCli([
    'certs',
    'node',
    '--ca',
    caDir,
    '--name',
    'node1',
    '--san',
    '127.0.0.1,host1.example, ::1',
    '--out',
    out,
    '--json',
  ]);
  t.is(node.code, 0, node.stderr);
  const files = JSON.parse(node.stdout);
  t.deepEqual(files, {
    ca: path.join(out, 'ca.crt'),
    cert: path.join(out, 'node1.crt'),
    key: path.join(out, 'node1.key'),
    sans: ['127.0.0.1', 'host1.example', '::1'],
  });
  for (const f of [files.ca, files.cert, files.key]) t.true(existsSync(f), f);
  t.is(mode(files.key), 0o600);
  t.deepEqual(
    readFileSync(files.ca),
    readFileSync(path.join(caDir, 'ca.crt')),
    'the CA certificate is copied',
  );
  const leaf = cert(files.cert);
  t.false(leaf.ca);
  t.true(leaf.checkIssued(caCert));
  t.true(leaf.verify(caCert.publicKey), 'signed by the CA');
  t.true(leaf.checkPrivateKey(createPrivateKey(readFileSync(files.key))));
  t.is(leaf.checkIP('127.0.0.1'), '127.0.0.1');
  t.truthy(leaf.checkIP('::1'));
  t.is(leaf.checkHost('host1.example'), 'host1.example');
  t.is(leaf.checkIP('10.1.2.3'), undefined);
  t.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], 'serverAuth and clientAuth');
  t.regex(leaf.subject, /CN=node1/);
  // What every daemon loads at start accepts it.
  t.is(loadTls({ ca: files.ca, cert: files.cert, key: files.key }).name, 'node1');

  // Existing files are kept unless --force; with it a key is rewritten 0600 even if it was opened up.
  const again = await runCli(['certs', 'node', '--ca', caDir, '--name', 'node1', '--out', out]);
  t.is(again.code, 2);
  t.regex(again.stderr, /^stdchk: .*node1\.crt, .*node1\.key already exist \(pass --force to replace\)\n$/);
  chmodSync(files.key, 0o644);
  const forced = await runCli(['certs', 'node', '--ca', caDir, '--name', 'node1', '--out', out, '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.is(mode(files.key), 0o600);
  t.is(cert(files.cert).checkHost('node1'), 'node1', 'without --san the name is the SAN');
});

test('stdchk certs refuses bad input with one line and exit 2', async (t) => {
  const dir = tempDir();
  const cases: [string[], RegExp][] = [
    [
      ['certs', 'node', '--ca', path.join(dir, 'none'), '--name', 'n', '--out', dir],
      /cannot read the CA's ca\.crt/,
    ],
    [['certs', 'ca', '--out', path.join(dir, 'c'), '--days', '0'], /--days must be/],
  ];
  const caDir = path.join(dir, 'ca');
  t.is((await runCli(['certs', 'ca', '--out', caDir])).code, 0);
  cases.push(
    [['certs', 'node', '--ca', caDir, '--name', '../x', '--out', dir], /--name must be/],
    [
      ['certs', 'node', '--ca', caDir, '--name', 'n', '--san', 'no_such host', '--out', dir],
      /--san entries must be/,
    ],
  );
  for (const [args, re] of cases) {
    const r = await runCli(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, re);
    t.is(r.stderr.trim().split('\n').length, 1);
  }
});

test('loadTls refuses a key of another certificate, a certificate of another CA, an expired one, two of three flags', async (t) => {
  const dir = tempDir();
  const ca = await makeCa();
  const other = await makeCa({ name: 'other' });
  const sans = parseSanList('127.0.0.1');
  const good = await makeNodeCert(ca, { name: 'a', sans });
  const foreign = await makeNodeCert(other, { name: 'b', sans });
  const expired = await makeNodeCert(ca, {
    name: 'c',
    sans,
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  const w = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
    return f;
  };
  const caFile = w('ca.crt', ca.cert);
  t.throws(() => loadTls({ ca: caFile, cert: w('a.crt', good.cert), key: w('b.key', foreign.key) }), {
    message: /does not belong to the certificate/,
  });
  t.throws(() => loadTls({ ca: caFile, cert: w('b.crt', foreign.cert), key: w('b2.key', foreign.key) }), {
    message: /\(b\) is not signed by the CA in/,
  });
  t.throws(() => loadTls({ ca: caFile, cert: w('c.crt', expired.cert), key: w('c.key', expired.key) }), {
    message: /is valid from .* to .*, not now/,
  });
  t.throws(() => resolveTls({ tlsCa: caFile, tlsCert: path.join(dir, 'a.crt') }), {
    message: /needs --tls-ca, --tls-cert and --tls-key together; missing --tls-key \(or STDCHK_TLS_KEY\)/,
  });
  t.throws(() => loadTls({ ca: path.join(dir, 'nope'), cert: caFile, key: caFile }), {
    message: /cannot read --tls-ca/,
  });
  t.is(loadTls({ ca: caFile, cert: path.join(dir, 'a.crt'), key: w('a.key', good.key) }).name, 'a');
  // A key others could read is refused (docs/security.md), whatever else is right.
  chmodSync(path.join(dir, 'a.key'), 0o640);
  t.throws(() => loadTls({ ca: caFile, cert: path.join(dir, 'a.crt'), key: path.join(dir, 'a.key') }), {
    message:
      /^the private key \(--tls-key\) .*a\.key has mode 0640: other users could read or change it; run chmod 600 /,
  });
});

test('TLS failures reported by grpc-js become one clear line', (t) => {
  const wrap = (e: string) =>
    `No connection established. Last error: ${e} (2026-01-01T00:00:00.000Z). Resolution note: `;
  t.regex(
    tlsFailure(wrap('Error: self-signed certificate in certificate chain')) ?? '',
    /^TLS handshake failed: the server's certificate is not signed by the CA in --tls-ca .*\(self-signed certificate in certificate chain\)$/,
  );
  t.regex(
    tlsFailure(
      "No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: 10.9.9.9. Resolution note: ",
    ) ?? '',
    /no SAN for the address dialled .*127\.0\.0\.1 is not in the cert's list: 10\.9\.9\.9\)$/,
  );
  t.regex(
    tlsFailure(
      wrap(
        '80FC47EC717F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n',
      ),
    ) ?? '',
    /requires a client certificate.*\(tlsv13 alert certificate required\)$/,
  );
  t.regex(
    tlsFailure(
      wrap('Error: 80FC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:x.c:350:\n'),
    ) ?? '',
    /does not speak TLS/,
  );
  t.is(tlsFailure(wrap('Failed to connect')), undefined, 'a server that is down is not a TLS failure');
});
