import { describe, it } from 'vitest';
import { KurrentEventStore } from '../../src/eventstore/eventstoredb.ts';
import { describeEventStoreContract } from './contract.ts';

/**
 * The same contract against EventStoreDB/KurrentDB: EVENTSTORE_URL when set, else a KurrentDB container when
 * Docker answers. Machines with neither (the project's own development machines have no Docker engine) skip it,
 * and say so once.
 */
async function locateServer(): Promise<{ url: string; stop: () => Promise<void> } | { skipped: string }> {
  if (process.env.EVENTSTORE_URL) return { url: process.env.EVENTSTORE_URL, stop: async () => {} };
  try {
    const { getContainerRuntimeClient, GenericContainer, Wait } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000)),
    ]);
    const container = await new GenericContainer('docker.kurrent.io/kurrent-latest/kurrentdb:latest')
      .withEnvironment({ KURRENTDB_INSECURE: 'true', KURRENTDB_RUN_PROJECTIONS: 'All', KURRENTDB_MEM_DB: 'true' })
      .withExposedPorts(2113)
      .withWaitStrategy(Wait.forHttp('/health/live', 2113).forStatusCode(204))
      .start();
    return {
      url: `kurrentdb://${container.getHost()}:${container.getMappedPort(2113)}?tls=false`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    return { skipped: `EVENTSTORE_URL is not set and Docker did not answer (${(error as Error).message})` };
  }
}

const server = await locateServer();

if ('skipped' in server) {
  console.log(`EventStoreDB contract suite SKIPPED: ${server.skipped}`);
  describe(`event store contract: eventstoredb (SKIPPED: ${server.skipped})`, () => {
    it.skip('runs where EVENTSTORE_URL is set or Docker answers', () => {});
  });
} else {
  describeEventStoreContract('eventstoredb', async () => {
    const store = new KurrentEventStore({ connectionString: server.url });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await server.stop();
      },
    };
  });
}
