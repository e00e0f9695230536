import { type CliOptions, commandList, type LazyCliCommand, packageVersion, runCli } from '@nitro-datakey/shared/cli';

/** Each command's module (and the server's) loads when it runs: `--version` and `--help` load none. */
const COMMANDS: Record<string, LazyCliCommand> = {
  audit: { summary: 'print the matching events of an audit file', load: async () => (await import('./nitro-kms-local/audit.js')).auditCommand },
  export: {
    summary: "print a data directory's keys and aliases as JSON (no key material)",
    load: async () => (await import('./nitro-kms-local/export.js')).exportCommand,
  },
};

const USAGE = `Usage: nitro-kms-local [options]
       nitro-kms-local export --data-dir DIR [--region REGION] [--account ID]
       nitro-kms-local audit --file FILE [--key KEY] [--operation NAME] [--denied] [--injected]

A local AWS KMS that honours Recipient (attested requests) the way AWS does. Point the AWS SDK or CLI
at it with an endpoint override. SigV4 signatures are NOT checked: it is a local tool, bound to
loopback by default.

Options:
  --host HOST                       listen address (default 127.0.0.1); anything but loopback needs
                                    --allow-non-loopback, since signatures are not checked
  --allow-non-loopback              listen on a non-loopback HOST anyway (prints a warning)
  --port PORT                       listen port (default 0: any free port)
  --data-dir DIR                    persist keys, aliases and TLS material in DIR (default: in memory)
  --region REGION                   default us-east-1
  --account ID                      12-digit account id (default 111122223333)
  --trust-root-fingerprint HEX      trust this Nitro root for Recipient documents; repeatable
                                    (default: the AWS Nitro root only)
  --fault JSON                      inject faults from the start, e.g. '{"throttle":{"next":2}}' (fields:
                                    throttle, serverError, reset, invalidState as {"next": N} or
                                    {"rate": 0..1}; latencyMs; attested: "plaintext" | "foreign-recipient")
  --admin-port PORT                 serve GET/PUT http://127.0.0.1:PORT/faults to change faults at run
                                    time (127.0.0.1 only; 0: any free port). Its URL and a bearer token
                                    are in the ready line (adminEndpoint, adminToken): send
                                    "Authorization: Bearer TOKEN" with every request
  --recipient-rsa-2048-only         refuse Recipient keys other than RSA-2048 (default: 2048-4096 bits)
  --tls                             serve HTTPS with a locally generated CA; its path is printed
  --seed FILE                       keys, aliases and key policies to create at start (JSON)
  --principal ACCESS_KEY_ID=ARN     the caller ARN for an access key id; repeatable (other access key
                                    ids are the account root, or see below). Append what IAM knows of
                                    it: ';tag:KEY=VALUE' (aws:PrincipalTag/KEY), ';org=o-ID'
                                    (aws:PrincipalOrgID), ';org-path=o-ID/r-ROOT/ou-.../'
                                    (aws:PrincipalOrgPaths), each repeatable. Under --iam strict, the
                                    roles and users named here and by --iam-policy are the ones that
                                    exist: a key policy naming another is refused, as on AWS
  --iam-policy ARN=FILE             an identity (IAM) policy (JSON) of a principal, for every operation;
                                    repeatable; a role's apply to its sessions, whatever the role's path
  --iam strict|permissive           callers with no --iam-policy: strict (default) have none, as on AWS,
                                    so a key policy naming only the account root gives them nothing;
                                    permissive models an IAM that allows them everything (quick local
                                    runs). The ready line says which ("iam")
  --unknown-callers root|anonymous  who an unmapped access key id is (default root; anonymous
                                    matches only "Principal": "*")
  --audit FILE                      append the audit trail to FILE (0600): one CloudTrail-shaped JSON
                                    event per request, never key material or attestation documents
  --shutdown-grace-ms N             on SIGINT/SIGTERM, let requests in flight finish for N ms, then close
                                    every connection (default 2000)
  --quiet                           no request log on stderr
  -h, --help                        show this help

Commands (see "nitro-kms-local COMMAND --help"):
${commandList(COMMANDS)}

When ready it prints one JSON line on stdout: {"ready": true, "endpoint", "region", "account", "caCertPath"?, ...}.
It stops cleanly on SIGINT or SIGTERM. Exit status: 0 stopped cleanly, 1 failed, 2 usage error.
`;

/** The `nitro-kms-local` command; returns its exit status and never throws. */
export function nitroKmsLocal(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  return runCli(
    {
      name: 'nitro-kms-local',
      help: USAGE,
      version: () => packageVersion(import.meta.url),
      commands: COMMANDS,
      service: async (args, context) => (await import('./nitro-kms-local/serve.js')).serveLocalKms(args, context),
    },
    argv,
    options,
  );
}
