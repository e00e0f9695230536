/**
 * SHA-256 of the DER of the AWS Nitro Enclaves root certificate G1 (CN=aws.nitro-enclaves, P-384,
 * valid 2019-10-28 to 2049-10-28), as AWS publishes it. A document's cabundle[0] must hash to a trusted value.
 */
export const AWS_NITRO_ROOT_G1_SHA256 = '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';
