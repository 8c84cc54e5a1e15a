/** The service's default limits: shared by the server and the CLI's usage, which must not load the server to show them. */
export const SERVICE_DEFAULTS = {
  maxAttempts: 3,
  keepHours: 24,
  maxUploadMb: 2048,
  maxFiles: 5000,
  maxQueue: 1000,
} as const;
