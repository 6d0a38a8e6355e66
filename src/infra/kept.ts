/**
 * `load` run once and its answer kept for the life of the process (a secret, credentials: they do not change
 * while it runs). A failure (the database away) is not kept: the next call loads again.
 */
export function kept<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | null = null;
  return () => {
    value ??= load().catch((error) => {
      value = null;
      throw error;
    });
    return value;
  };
}
