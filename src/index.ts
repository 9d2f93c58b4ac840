/**
 * windflow's public API: everything notebooks and scripts import comes from here
 * (`import { ... } from "windflow"`).
 */
export * from "./data/schema.js";
export * from "./errors.js";

export const VERSION = "0.1.0";
