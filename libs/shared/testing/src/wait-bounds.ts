// The bounds tests wait within (their own file so that the Kafka tap can use them without the service harness).

/**
 * How long the services' producers wait for Kafka's acknowledgement in tests. A broker starved of
 * CPU on a busy machine can take seconds to acknowledge; with the 5 s default one slow
 * acknowledgement turned a service's producer "unavailable" and failed the sends of the tests
 * after it. Tests of the fail-fast itself set their own bounds.
 */
export const TEST_PRODUCER_ACK_TIMEOUT_MS = 60_000;
/** A bound for waits on a service's output that may sit behind one such acknowledgement (returns as soon as the state holds). */
export const PIPELINE_WAIT_MS = TEST_PRODUCER_ACK_TIMEOUT_MS + 30_000;
