/**
 * The scheduler suite (tests/scheduler.test.ts) again, with warm task processes (`WarmExecutor`, the default
 * of `[scheduler] warm_task_processes`): every test there must hold whichever way task processes start.
 */
import "./helpers/warm-env.js";
import "./scheduler.test.js";
