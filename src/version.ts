/** windflow's version, in a module of its own: `windflow --version` loads nothing else. */
export const VERSION = "0.1.0";
