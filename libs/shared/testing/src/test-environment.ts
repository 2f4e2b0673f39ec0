// Jest test environment (jest.config.js): Node's, plus the removal of what one test file
// created on the shared broker and database server when the file ends — after its own
// afterAll hooks, and also when it failed. testInfra() names everything of the file after the
// id set here and marks the file as one that used the infrastructure.
import { randomBytes } from 'node:crypto';
import { TestEnvironment } from 'jest-environment-node';
import { removeTestResources, TEST_TOPIC_PREFIX } from './cleanup';

/** Set on the test file's global object; read by testInfra(). */
export interface TestFileGlobals {
  __MOSAIC_TEST_FILE_ID__?: string;
  __MOSAIC_TEST_INFRA_USED__?: boolean;
}

export default class MosaicTestEnvironment extends TestEnvironment {
  private readonly fileId = randomBytes(4).toString('hex');

  override async setup(): Promise<void> {
    await super.setup();
    (this.global as TestFileGlobals).__MOSAIC_TEST_FILE_ID__ = this.fileId;
  }

  override async teardown(): Promise<void> {
    const used = (this.global as TestFileGlobals).__MOSAIC_TEST_INFRA_USED__ === true;
    if (used) await this.removeFileResources();
    await super.teardown();
  }

  private async removeFileResources(): Promise<void> {
    const brokers = process.env.MOSAIC_TEST_KAFKA_BROKERS;
    const mongoUri = process.env.MOSAIC_TEST_MONGODB_URI;
    if (!brokers || !mongoUri) return;
    const result = await removeTestResources({
      brokers: brokers.split(',').filter(Boolean),
      mongoUri,
      namePrefix: `${TEST_TOPIC_PREFIX}${this.fileId}.`,
      isTestDatabase: (name) => name.endsWith(`_${this.fileId}`),
      busyGroupWaitMs: 10_000,
    });
    for (const error of result.errors) process.stderr.write(`[test cleanup] ${error}\n`);
    if (result.busyGroups.length) {
      process.stderr.write(`[test cleanup] consumer groups still in use, left for the final sweep: ${result.busyGroups.join(', ')}\n`);
    }
  }
}
