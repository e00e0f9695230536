/** `@nitro-datakey/shared/attested-agent`: an https.Agent (Node) whose connections end inside an attested enclave. */
export { AttestedAgent, attestedAgent, type AttestedAgentOptions } from '../attested-http/attested-agent.js';
