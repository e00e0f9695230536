import { InvalidArgumentError } from '@nitro-datakey/shared';
import type { PrincipalAttributes } from '@nitro-datakey/shared/policy';

/*
 * The IAM principals the local KMS knows: who an access key id is (with the tags and organization IAM would
 * know of it), and which role and user ARNs exist, so a key policy naming one that does not is refused as
 * AWS refuses it. AWS knows its principals; the local KMS learns them from --principal and --iam-policy.
 */

/** A caller the local KMS maps an access key id to: its ARN and what IAM knows of it beyond the ARN. */
export interface PrincipalEntry extends PrincipalAttributes {
  readonly arn: string;
}

/** Access key id -> the caller's ARN, or the ARN with its tags and organization. */
export type PrincipalsOption = Readonly<Record<string, string | PrincipalEntry>>;

const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(?:iam|sts)::\d{12}:.+$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const ORGANIZATION_PATH = /^o-[a-z0-9]{10,32}\/r-[a-z0-9]{4,32}\/(?:ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}\/)*$/;
// IAM's tag rules: keys up to 128 characters, values up to 256, letters, digits, spaces and + - = . _ : / @.
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/** Role or user: `role/NAME` or `user/NAME` of an account, whatever the path (names are unique in an account). */
const identityOf = (arn: string): string | undefined => {
  const iam = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:[^*]*\/)?([^/]+)$/.exec(arn);
  if (iam) return `${iam[1]}:${iam[2]}/${iam[3]}`;
  const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
  return session ? `${session[1]}:role/${session[2]}` : undefined;
};

export class PrincipalDirectory {
  private readonly byAccessKey = new Map<string, PrincipalEntry>();
  private readonly identities = new Set<string>();

  /** Throws InvalidArgumentError naming the entry that is not a principal IAM could have. */
  constructor(principals: PrincipalsOption, iamPolicyArns: Iterable<string> = []) {
    for (const [accessKeyId, given] of Object.entries(principals)) {
      const entry = typeof given === 'string' ? { arn: given } : given;
      checkEntry(accessKeyId, entry);
      this.byAccessKey.set(accessKeyId, entry);
      const identity = identityOf(entry.arn);
      if (identity) this.identities.add(identity);
    }
    for (const arn of iamPolicyArns) {
      const identity = identityOf(arn);
      if (identity) this.identities.add(identity);
    }
  }

  /** The caller an access key id stands for, if one was declared. */
  caller(accessKeyId: string): PrincipalEntry | undefined {
    return this.byAccessKey.get(accessKeyId);
  }

  /**
   * Whether a key policy's "AWS" principal names something that exists: "*", any account or account root
   * (the local KMS cannot know other accounts), a role or user declared (a role session names its role),
   * and a federated user.
   */
  exists(principal: string): boolean {
    const identity = identityOf(principal);
    return identity === undefined || this.identities.has(identity);
  }
}

function checkEntry(accessKeyId: string, entry: PrincipalEntry): void {
  const fail = (what: string) => new InvalidArgumentError(`principal ${accessKeyId}: ${what}`);
  if (!/^[A-Z0-9]{4,128}$/.test(accessKeyId)) throw fail('an access key id is 4 to 128 upper-case letters and digits');
  if (!PRINCIPAL_ARN.test(entry.arn)) throw fail(`${JSON.stringify(entry.arn)} is not an IAM or STS ARN`);
  for (const [key, value] of Object.entries(entry.tags ?? {})) {
    if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('aws:')) throw fail(`tag key ${JSON.stringify(key)} is not one IAM accepts`);
    if (!TAG_VALUE.test(value)) throw fail(`the value of tag ${key} is not one IAM accepts`);
  }
  if (entry.organizationId !== undefined && !ORGANIZATION_ID.test(entry.organizationId))
    throw fail(`organization id ${JSON.stringify(entry.organizationId)} is not o- and 10 to 32 lower-case letters or digits`);
  for (const path of entry.organizationPaths ?? []) {
    if (!ORGANIZATION_PATH.test(path)) throw fail(`organization path ${JSON.stringify(path)} is not o-.../r-.../ou-.../ ending in /`);
    if (entry.organizationId !== undefined && !path.startsWith(`${entry.organizationId}/`))
      throw fail(`organization path ${path} is not in organization ${entry.organizationId}`);
  }
}

/**
 * One `--principal` value: `ACCESS_KEY_ID=ARN`, then `;tag:KEY=VALUE`, `;org=o-...` and `;org-path=o-.../r-.../`
 * as often as needed. `;` ends the ARN: IAM names never contain it.
 */
export function parsePrincipalOption(text: string): [string, PrincipalEntry] {
  const [head = '', ...attributes] = text.split(';');
  const m = /^([^=]*)=(.*)$/.exec(head);
  if (!m) throw new InvalidArgumentError(`expected ACCESS_KEY_ID=ARN[;tag:KEY=VALUE][;org=o-...][;org-path=PATH], got ${JSON.stringify(text)}`);
  const tags: Record<string, string> = {};
  const organizationPaths: string[] = [];
  let organizationId: string | undefined;
  for (const attribute of attributes) {
    const tag = /^tag:([^=]+)=(.*)$/.exec(attribute);
    if (tag) tags[tag[1] as string] = tag[2] as string;
    else if (attribute.startsWith('org=')) organizationId = attribute.slice(4);
    else if (attribute.startsWith('org-path=')) organizationPaths.push(attribute.slice(9));
    else throw new InvalidArgumentError(`${JSON.stringify(attribute)} is not tag:KEY=VALUE, org=ID or org-path=PATH`);
  }
  const entry: PrincipalEntry = {
    arn: m[2] as string,
    ...(Object.keys(tags).length > 0 ? { tags } : {}),
    ...(organizationId !== undefined ? { organizationId } : {}),
    ...(organizationPaths.length > 0 ? { organizationPaths } : {}),
  };
  checkEntry(m[1] as string, entry);
  return [m[1] as string, entry];
}
