/** Fails early, and by name, when a port the stack needs is already taken. */
export async function assertPortFree(port: number, what: string, envName: string): Promise<void> {
  let listener: Deno.Listener | undefined;
  try {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `Port ${port} (${what}) is already in use on 127.0.0.1. ` +
          `Stop whatever holds it (\`ss -ltnp 'sport = :${port}'\` shows it; another \`npm start\`?) ` +
          `or pick another port with ${envName}=<port>.`,
      );
    }
    throw e;
  } finally {
    listener?.close();
  }
  // Give the kernel a moment to release the socket before the real owner binds it.
  await Promise.resolve();
}
