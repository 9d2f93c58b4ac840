/** Imported first by tests/scheduler-warm.test.ts: the scheduler suites then run with 2 warm task processes. */
process.env.WINDFLOW_TEST_WARM = "2";
