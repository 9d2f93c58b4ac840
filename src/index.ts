/**
 * windflow's public API: everything notebooks and scripts import comes from here
 * (`import { ... } from "windflow"`).
 */

// The authoring API (windflow/dag): dag, chain, durations, errors, the spec types, VERSION.
export * from "./authoring.js";
export * from "./config.js";
// Data: schema, loading, conversion for notebooks, the dataset command.
export { DESCRIBE_STATS, describeColumns, type ToDanfoOptions, toDanfo } from "./data/danfo.js";
export {
  type DatasetOptions,
  type DatasetProvenance,
  type DatasetResult,
  type DatasetSource,
  datasetPath,
  makeDataset,
  readProvenance,
} from "./data/dataset.js";
export { type DatasetSummary, describeDataset, formatSummary } from "./data/describe.js";
export { type DownloadOptions, type DownloadResult, download } from "./data/download.js";
export { type EngieQuery, engieUrl, fetchEngieRecords } from "./data/engie.js";
export {
  freshRows,
  type GenerateOptions,
  type GenerateResult,
  generateData,
  sampleRow,
} from "./data/generate.js";
export {
  checkHeader,
  DATE_FORMAT,
  diagnose,
  type LoadOptions,
  loadDataset,
  schemaDtypes,
} from "./data/load.js";
export * as physics from "./data/physics.js";
export * from "./data/schema.js";
export {
  planSynthetic,
  REAL_FILE_FACTS,
  type SyntheticOptions,
  synthesizeDataset,
} from "./data/synthetic.js";
export { type CheckResult, formatDoctor, runDoctor } from "./doctor.js";
export * from "./errors.js";
export { type PrepareStep, prepareFeaturesSteps } from "./features/explain.js";
// Features: the course's prepare_features.
export {
  DATE_FEATURES,
  DROPPED_COLUMNS,
  FEATURE_COLUMNS,
  FILL_RULES,
  type PreparedFeatures,
  type PrepareOptions,
  preparedColumns,
  prepareFeatures,
  prepareFeaturesConsuming,
  prepareFeaturesWithIO,
  ROLLING_WINDOW,
} from "./features/prepare.js";
// IO between tasks: dated names, withIO.
export { type DatedWrite, parseTimestamp, timestamp, writeDated } from "./io/dated.js";
export {
  csvFile,
  datedCsv,
  MissingInputError,
  parquetFile,
  parquetReader,
  type Reader,
  type Writer,
  withIO,
} from "./io/with-io.js";
// Model: which TensorFlow.js backend runs.
export {
  type BackendChoice,
  type BackendName,
  type BackendOptions,
  chooseBackend,
  ensureBackend,
} from "./model/backend.js";
export {
  listModels,
  loadModel,
  readMetadata,
  resolveModelDir,
  saveModel,
  saveToRegistry,
} from "./model/io.js";
// Model: training, predictions, the registry.
export {
  type EpochReport,
  type Histogram,
  histogram,
  type ModelMetadata,
  type ValidationMetrics,
} from "./model/metadata.js";
export {
  createModel,
  MODEL_DEFAULTS,
  predict,
  regressionMetrics,
  splitRows,
  TRAIN_DEFAULTS,
  type TrainOptions,
  type TrainResult,
  trainModel,
} from "./model/model.js";
// Notebooks: display, charts, exercises and checks, the lab's helpers, the trainee's version.
export {
  dagSvg,
  type Figure,
  frameHtml,
  notebookProgress,
  showDag,
  showFrame,
  showHtml,
  showMarkdown,
  showPlot,
} from "./notebook/display.js";
export * from "./notebook/exercises.js";
export * as figures from "./notebook/figures.js";
// Notebooks: the project-local Jupyter, a server, the headless runner.
export { findProjectRoot, jupyterEnv, jupyterPaths, writeKernelspec } from "./notebook/jupyter-env.js";
export {
  type EngineRun,
  type ProjectPaths,
  projectDag,
  projectPaths,
  readPredictionRuns,
  runDag,
  runInEngine,
  showSource,
} from "./notebook/lab.js";
export {
  DEFAULT_NOTEBOOK_LANGUAGE,
  findLabRoot,
  NOTEBOOK_FOLDERS,
  NOTEBOOK_LANGUAGES,
  type NotebookLanguage,
} from "./notebook/lab-folders.js";
export {
  type CellEvent,
  type CellResult,
  type Notebook,
  type NotebookFailure,
  type NotebookRunResult,
  type RunNotebookOptions,
  type RunNotebooksOptions,
  readNotebook,
  runNotebook,
  runNotebooks,
  writeNotebook,
} from "./notebook/run.js";
export {
  type JupyterServer,
  type StartJupyterServerOptions,
  startJupyterServer,
  withJupyterServer,
} from "./notebook/server.js";
export {
  makeStudentVersion,
  makeStudentWorkspace,
  SolutionMarkerError,
  type StudentVersion,
  stripSolutions,
  studentCounterpart,
  studentNotebook,
  studentTypeScript,
} from "./notebook/student.js";
// Orchestration: DAG authoring, states, readiness, schedules, in-process test runs, DAG files.
export * from "./orchestration/executor/index.js";
export { renderDag } from "./orchestration/graph.js";
export { listDagFiles, loadDag, loadDagFile } from "./orchestration/loader.js";
export {
  evaluate,
  readyTasks,
  runState,
  tasksToSkipOrFail,
  triggerRuleVerdict,
} from "./orchestration/readiness.js";
export {
  describeSchedule,
  manualRun,
  nextDueAt,
  nextRun,
  normalizeSchedule,
  runIdFor,
  runsDue,
  type ScheduleInput,
} from "./orchestration/schedule.js";
export * from "./orchestration/state.js";
export * from "./orchestration/store/index.js";
export * from "./orchestration/test-run.js";
export {
  assertDagSpec,
  fromJSON as dagSpecFromJSON,
  toJSON as dagSpecToJSON,
} from "./orchestration/validate.js";
// The pipeline steps as tasks call them (file in, file out).
export {
  modelReader,
  type PredictWithIOOptions,
  type PredictWithIOResult,
  predictWithIO,
  type TrainWithIOOptions,
  type TrainWithIOResult,
  trainModelWithIO,
} from "./pipeline/steps.js";
export { type Progress, progress } from "./util/progress.js";
