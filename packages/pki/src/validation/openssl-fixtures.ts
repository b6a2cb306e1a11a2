// Test support only (not exported from the package): a small OpenSSL CA hierarchy, generated once per test file.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Fixtures {
  readonly dir: string
  /** Runs openssl in the fixture directory; throws when it fails. */
  readonly openssl: (...args: string[]) => string
  /** Runs openssl and returns its exit status and both outputs (OpenSSL reports verification on stderr). */
  readonly opensslResult: (...args: string[]) => { status: number | null; output: string }
  readonly der: (pemFile: string) => Uint8Array
  readonly file: (name: string) => Uint8Array
  readonly path: (name: string) => string
  readonly cleanup: () => void
}

export function startFixtures(): Fixtures {
  const dir = mkdtempSync(join(tmpdir(), 'yiqian-pki-'))
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'latin1' })
  return {
    dir,
    openssl,
    opensslResult: (...args) => {
      const r = spawnSync('openssl', args, { cwd: dir, encoding: 'latin1' })
      return { status: r.status, output: `${r.stdout}${r.stderr}` }
    },
    der: (pemFile) => {
      const pem = readFileSync(join(dir, pemFile), 'latin1')
      const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')
      return new Uint8Array(Buffer.from(body, 'base64'))
    },
    file: (name) => new Uint8Array(readFileSync(join(dir, name))),
    path: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}

const CONFIG = `
[ca_root]
dir = .
database = root-index.txt
serial = root-serial
new_certs_dir = .
default_md = sha256
policy = policy_any
unique_subject = no
default_crl_days = 30
[ca_inter]
dir = .
database = inter-index.txt
serial = inter-serial
new_certs_dir = .
default_md = sha256
policy = policy_any
unique_subject = no
default_crl_days = 30
[policy_any]
commonName = supplied
[root_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter_ext]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[sub_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
[noca_ext]
basicConstraints = critical,CA:false
keyUsage = critical,keyCertSign,cRLSign
[nokcs_ext]
basicConstraints = critical,CA:true
keyUsage = critical,digitalSignature,cRLSign
[leaf_ext]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = emailProtection,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[crit_ext]
basicConstraints = CA:false
keyUsage = critical,digitalSignature
1.2.3.4.5 = critical,ASN1:NULL
[ocsp_ext]
basicConstraints = CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
`

/** ECDSA P-256 hierarchy: root → inter (pathlen 0) → leaves, plus the broken variants the tests need. */
export interface EcHierarchy {
  readonly root: Uint8Array
  readonly inter: Uint8Array
  readonly leafGood: Uint8Array
  readonly leafRevoked: Uint8Array
  readonly leafCritical: Uint8Array
  readonly responder: Uint8Array
  /** Same name as inter, another key: only the key identifiers tell them apart. */
  readonly interTwin: Uint8Array
  /** CA:false "intermediate" signed by root, and a leaf it issued. */
  readonly notCa: Uint8Array
  readonly leafOfNotCa: Uint8Array
  /** CA without keyCertSign signed by root, and a leaf it issued. */
  readonly noKeyCertSign: Uint8Array
  readonly leafOfNoKeyCertSign: Uint8Array
  /** A CA under inter (whose pathlen is 0) and a leaf it issued. */
  readonly subCa: Uint8Array
  readonly leafOfSubCa: Uint8Array
  readonly rootCrl: Uint8Array
  readonly interCrl: Uint8Array
  /** OpenSSL's OCSP request (with nonce) for leafGood and leafRevoked, and its delegated responder's answer. */
  readonly ocspRequest: Uint8Array
  readonly ocspResponse: Uint8Array
  /** When leafRevoked was revoked (just before the CRL was made). */
  readonly revokedAround: Date
}

const START = '20240101000000Z'
const END = '20351231000000Z'

export function makeEcHierarchy(f: Fixtures): EcHierarchy {
  const { openssl } = f
  writeFileSync(f.path('ca.cnf'), CONFIG)
  for (const db of ['root', 'inter']) {
    writeFileSync(f.path(`${db}-index.txt`), '')
    writeFileSync(f.path(`${db}-serial`), db === 'root' ? '1000\n' : '2000\n')
  }
  const keys = ['root', 'inter', 'leaf', 'resp', 'odd']
  for (const k of keys) {
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${k}.key`)
    openssl('req', '-new', '-key', `${k}.key`, '-subj', `/CN=${k}`, '-out', `${k}.csr`)
  }
  const ca = (section: string, csr: string, subj: string, ext: string, out: string, extra: string[] = []) =>
    openssl(
      'ca',
      '-batch',
      '-notext',
      '-config',
      'ca.cnf',
      '-name',
      section,
      '-in',
      csr,
      '-subj',
      subj,
      '-extensions',
      ext,
      '-startdate',
      START,
      '-enddate',
      END,
      '-out',
      out,
      ...extra,
    )
  ca('ca_root', 'root.csr', '/O=Yiqian Test/CN=Test Root', 'root_ext', 'root.pem', [
    '-selfsign',
    '-keyfile',
    'root.key',
  ])
  const asRoot = ['-cert', 'root.pem', '-keyfile', 'root.key']
  const asInter = ['-cert', 'inter.pem', '-keyfile', 'inter.key']
  ca('ca_root', 'inter.csr', '/O=Yiqian Test/CN=Test Intermediate', 'inter_ext', 'inter.pem', asRoot)
  ca('ca_root', 'odd.csr', '/CN=Test Intermediate', 'inter_ext', 'twin.pem', asRoot)
  ca('ca_root', 'odd.csr', '/CN=Not A CA', 'noca_ext', 'noca.pem', asRoot)
  ca('ca_root', 'odd.csr', '/CN=No KeyCertSign', 'nokcs_ext', 'nokcs.pem', asRoot)
  ca('ca_inter', 'odd.csr', '/CN=Sub CA', 'sub_ext', 'sub.pem', asInter)
  ca('ca_inter', 'leaf.csr', '/CN=Dr Good', 'leaf_ext', 'good.pem', asInter)
  ca('ca_inter', 'leaf.csr', '/CN=Dr Revoked', 'leaf_ext', 'revoked.pem', asInter)
  ca('ca_inter', 'leaf.csr', '/CN=Dr Critical', 'crit_ext', 'crit.pem', asInter)
  ca('ca_inter', 'resp.csr', '/CN=OCSP Responder', 'ocsp_ext', 'resp.pem', asInter)
  // Leaves of the broken CAs go into the root's database: it is only a ledger here.
  ca('ca_root', 'leaf.csr', '/CN=Leaf of Not A CA', 'leaf_ext', 'leaf-noca.pem', [
    '-cert',
    'noca.pem',
    '-keyfile',
    'odd.key',
  ])
  ca('ca_root', 'leaf.csr', '/CN=Leaf of No KeyCertSign', 'leaf_ext', 'leaf-nokcs.pem', [
    '-cert',
    'nokcs.pem',
    '-keyfile',
    'odd.key',
  ])
  ca('ca_root', 'leaf.csr', '/CN=Leaf of Sub CA', 'leaf_ext', 'leaf-sub.pem', [
    '-cert',
    'sub.pem',
    '-keyfile',
    'odd.key',
  ])
  const revokedAround = new Date()
  openssl(
    'ca',
    '-config',
    'ca.cnf',
    '-name',
    'ca_inter',
    ...asInter,
    '-revoke',
    'revoked.pem',
    '-crl_reason',
    'keyCompromise',
  )
  openssl('ca', '-config', 'ca.cnf', '-name', 'ca_inter', ...asInter, '-gencrl', '-out', 'inter-crl.pem')
  openssl('ca', '-config', 'ca.cnf', '-name', 'ca_root', ...asRoot, '-gencrl', '-out', 'root-crl.pem')
  openssl('ocsp', '-issuer', 'inter.pem', '-cert', 'good.pem', '-cert', 'revoked.pem', '-reqout', 'req.der')
  openssl(
    'ocsp',
    '-index',
    'inter-index.txt',
    '-rsigner',
    'resp.pem',
    '-rkey',
    'resp.key',
    '-CA',
    'inter.pem',
    '-reqin',
    'req.der',
    '-respout',
    'resp.der',
    '-ndays',
    '7',
  )
  return {
    root: f.der('root.pem'),
    inter: f.der('inter.pem'),
    interTwin: f.der('twin.pem'),
    leafGood: f.der('good.pem'),
    leafRevoked: f.der('revoked.pem'),
    leafCritical: f.der('crit.pem'),
    responder: f.der('resp.pem'),
    notCa: f.der('noca.pem'),
    leafOfNotCa: f.der('leaf-noca.pem'),
    noKeyCertSign: f.der('nokcs.pem'),
    leafOfNoKeyCertSign: f.der('leaf-nokcs.pem'),
    subCa: f.der('sub.pem'),
    leafOfSubCa: f.der('leaf-sub.pem'),
    rootCrl: f.der('root-crl.pem'),
    interCrl: f.der('inter-crl.pem'),
    ocspRequest: f.file('req.der'),
    ocspResponse: f.file('resp.der'),
    revokedAround,
  }
}

/** SM2 root and leaf, signed with SM3 and the default signer ID. */
export function makeSm2Chain(f: Fixtures): { root: Uint8Array; leaf: Uint8Array } {
  const { openssl } = f
  const id = 'distid:1234567812345678'
  for (const k of ['sm2root', 'sm2leaf'])
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', `${k}.key`)
  writeFileSync(
    f.path('sm2.cnf'),
    '[req]\ndistinguished_name=dn\n[dn]\n[root]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n' +
      '[leaf]\nbasicConstraints=CA:false\nkeyUsage=critical,digitalSignature,nonRepudiation\n',
  )
  openssl(
    'req',
    '-config',
    'sm2.cnf',
    '-x509',
    '-new',
    '-key',
    'sm2root.key',
    '-sm3',
    '-sigopt',
    id,
    '-subj',
    '/CN=SM2 Root',
    '-days',
    '3650',
    '-extensions',
    'root',
    '-out',
    'sm2root.pem',
  )
  openssl(
    'req',
    '-config',
    'sm2.cnf',
    '-new',
    '-key',
    'sm2leaf.key',
    '-sm3',
    '-sigopt',
    id,
    '-subj',
    '/CN=SM2 Leaf',
    '-out',
    'sm2leaf.csr',
  )
  openssl(
    'x509',
    '-req',
    '-in',
    'sm2leaf.csr',
    '-CA',
    'sm2root.pem',
    '-CAkey',
    'sm2root.key',
    '-sm3',
    '-sigopt',
    id,
    '-vfyopt',
    id,
    '-days',
    '365',
    '-set_serial',
    '4096',
    '-extfile',
    'sm2.cnf',
    '-extensions',
    'leaf',
    '-out',
    'sm2leaf.pem',
  )
  return { root: f.der('sm2root.pem'), leaf: f.der('sm2leaf.pem') }
}

/** RSA-2048 root (sha256WithRSAEncryption) and a leaf it signed; call after makeEcHierarchy (reuses leaf.csr). */
export function makeRsaChain(f: Fixtures): { root: Uint8Array; leaf: Uint8Array } {
  const { openssl } = f
  openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsaroot.key')
  openssl(
    ...['req', '-config', 'sm2.cnf', '-x509', '-new', '-key', 'rsaroot.key', '-sha256', '-subj', '/CN=RSA Root'],
    ...['-days', '3650', '-extensions', 'root', '-out', 'rsaroot.pem'],
  )
  openssl(
    ...['x509', '-req', '-in', 'leaf.csr', '-CA', 'rsaroot.pem', '-CAkey', 'rsaroot.key', '-sha256', '-days', '365'],
    ...[
      '-set_serial',
      '8192',
      '-subj',
      '/CN=RSA Leaf',
      '-extfile',
      'sm2.cnf',
      '-extensions',
      'leaf',
      '-out',
      'rsaleaf.pem',
    ],
  )
  return { root: f.der('rsaroot.pem'), leaf: f.der('rsaleaf.pem') }
}
