// Casdoor's Node.js SDK, unmodified, driven by tests/oauth/test_sdk_clients.py and tests/authz: one command per run,
// its configuration in CASDOOR_CONFIG (JSON), its answer printed as one JSON line.
const { SDK } = require("casdoor-nodejs-sdk");

async function main() {
  const config = JSON.parse(process.env.CASDOOR_CONFIG);
  const sdk = new SDK(config);
  const [command, argument] = process.argv.slice(2);
  if (command === "sign-in-url") {
    return { url: sdk.getSignInUrl(argument) };
  }
  if (command === "exchange") {
    const tokens = await sdk.getAuthToken(argument);
    const claims = sdk.parseJwtToken(tokens.access_token);
    const refreshed = await sdk.refreshToken(tokens.refresh_token);
    return { tokens, claims, refreshed, refreshedClaims: sdk.parseJwtToken(refreshed.access_token) };
  }
  if (command === "enforce" || command === "batch-enforce") {
    // argument: {"permissionId", "modelId", "resourceId", "request"} (tests/authz/test_node_sdk.py)
    const { permissionId, modelId, resourceId, request } = JSON.parse(argument);
    const method = command === "enforce" ? "enforce" : "batchEnforce";
    return { result: await sdk[method](permissionId, modelId, resourceId, request) };
  }
  throw new Error(`unknown command ${command}`);
}

main().then(
  (answer) => console.log(JSON.stringify(answer)),
  (error) => { console.error(error.stack || String(error)); process.exit(1); },
);
