/** Configuration that cannot work (an environment variable, a source definition); the message names it. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
