/**
 * Every sentence, label and title the web UI shows, in English and in French: the server-rendered pages
 * (app.ts, html.ts) and the page scripts (client/*.ts) read them here through `translator()` (i18n.ts).
 *
 * `{name}` is a value put in at display time (a DAG id, a date, a count). English defines the keys and, for
 * each key, its placeholders: French must have every key (`Record<MessageKey, string>`: a missing or an extra
 * key does not compile) and the same placeholders (tests/i18n.test.ts). A pair of keys `x.one` / `x.other` is
 * a plural (`tn()` picks one by the count, with the language's plural rule: French says 0 and 1 in the singular).
 *
 * French words: those of the course and of Airflow's own French UI: DAG (invariable), tâche, exécution (a run),
 * date logique, planification (a schedule), déclencher (trigger), rattrapage (catch-up), instance de tâche,
 * essai (a try), scheduler. States (success, failed, running, queued...) and run types (manual, scheduled) are
 * shown as Airflow's keywords in both languages: trainees read them in logs, in the CLI and in the API; the
 * legend says what each means in French. Write French with plain spaces before `:` `;` `!` `?` `%`: `t()` makes
 * them non-breaking, as French typography wants.
 */

export const EN = {
  // --- every page: the header, the language switch, the error pages -------------------------------------
  "nav.dags": "DAGs",
  "nav.predictions": "Predictions",
  "nav.models": "Models",
  "nav.api": "API",
  "nav.account": "Account",
  "header.schedulerTitle": "scheduler status",
  "header.accountTitle": "change your password",
  "header.signOut": "Sign out",
  "lang.switch": "Language",
  "lang.switchTo": "Show the pages in {language}",
  "error.title": "Error",
  "error.notFound": "Not found",
  "error.noPage": "No page {path}.",
  "error.back": "Back to the DAGs",
  "error.internal": "internal error: {message}",
  "error.unreachable": "the web server does not answer: is windflow still running?",
  "error.readOnly": "your account may only read: ask an admin for the user, op or admin role",
  "error.csrf": "the page is out of date: reload it",

  // --- sign-in, and the default password --------------------------------------------------------------
  "login.title": "Sign in",
  "login.heading": "Sign in to windflow",
  "login.username": "Username",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.firstAccount":
    "First time? Sign in as {user} with the password {password} (the course's account), then change the password on the Account page.",
  "login.noAccount": "No account? Ask your trainer, or run {command} in a terminal.",
  "login.wrong": "wrong username or password",
  "login.expired": "the sign-in form expired: try again",
  "login.tooMany": "too many failed sign-ins: try again in {seconds} s",
  "banner.defaultPassword":
    "The account {user} still has its default password: anyone who knows the course can sign in. {change}, or run {command}.",
  "banner.changeIt": "Change it",

  // --- the scheduler's health (header badge and banner) -----------------------------------------------
  "scheduler.badgeRunning": "scheduler: running",
  "scheduler.badgeDown": "scheduler: not running",
  "scheduler.never":
    "No scheduler has run yet: DAGs you turn on or trigger wait until one starts (`windflow scheduler`).",
  "scheduler.running": "The scheduler is running on {host}.",
  "scheduler.stopped":
    "The scheduler is not running (stopped {ago} ago): runs wait until it is started (`windflow scheduler`).",
  "scheduler.silent":
    "The scheduler is not running (last heartbeat {ago} ago): runs wait until it is started (`windflow scheduler`).",

  // --- states and run types: Airflow's keywords; the legend and the badges' titles ---------------------
  "state.success": "success",
  "state.failed": "failed",
  "state.running": "running",
  "state.queued": "queued",
  "state.scheduled": "scheduled",
  "state.up_for_retry": "up for retry",
  "state.upstream_failed": "upstream failed",
  "state.skipped": "skipped",
  "state.none": "none",
  "runType.manual": "manual",
  "runType.scheduled": "scheduled",
  "runType.manualTitle": "manual run: triggered (Trigger, Trigger with config, the API or the CLI)",
  "runType.scheduledTitle": "scheduled run: created by the schedule, for an interval that is over",
  "runType.unknown": "{type} run",

  // --- schedules ----------------------------------------------------------------------------------------
  "schedule.manualOnly": "manual only",
  "schedule.every": "every {every}",

  // --- the DAG list -------------------------------------------------------------------------------------
  "dags.colOnOff": "ON/OFF",
  "dags.colDag": "DAG",
  "dags.colSchedule": "Schedule",
  "dags.colLastRun": "Last run",
  "dags.colNextRun": "Next run",
  "dags.colActions": "Actions",
  "dags.brokenTitle.one": "Broken DAG:",
  "dags.brokenTitle.other": "Broken DAGs:",
  "dags.empty": "No DAGs yet: put DAG files in the DAGs folder.",
  "dags.never": "never",
  "dags.paused": "(OFF)",
  "next.title":
    "for the interval starting {date} (its logical date): a scheduled run covers an interval and starts once that interval is over",
  "next.for": "for {date}",
  "next.dueNow": "due now",
  "next.at": "at {date}",
  "next.interval": "(interval from {date})",

  // --- ON/OFF and Trigger -------------------------------------------------------------------------------
  "switch.on": "ON",
  "switch.off": "OFF",
  "switch.aria": "{dagId} ON/OFF",
  "switch.title":
    "ON: the scheduler creates this DAG's scheduled runs and runs its triggered runs. OFF (paused): no new scheduled run is created and nothing new starts (triggered runs wait); tasks already running finish.",
  "switch.offToast": "{dagId} is OFF (paused): no new run starts; running tasks finish.",
  "switch.onCreatesToast":
    "{dagId} is ON. The scheduler creates its run for the interval {start} to {end} now{more}: a scheduled run covers an interval that is over (Airflow does the same). You need not press Trigger for it.",
  "switch.onCreatesMore": ", then the other missed intervals (catch-up on)",
  "switch.onToast": "{dagId} is ON: its next scheduled run comes when its next interval is over.",
  "trigger.button": "Trigger",
  "trigger.withConfig": "Trigger with config",
  "trigger.done": "Triggered {dagId}: {runId}, files stamped {stamp}{outputs}.",
  "trigger.failed": "Trigger failed: {reason}",
  "trigger.pausedNote": "DAG {dagId} is OFF (paused): the run waits until you turn it ON.",
  "trigger.waitsFor.one":
    "It waits for {runs} to end: {dagId} runs at most {count} run at a time (its maxActiveRuns). It shows as queued in the grid meanwhile.",
  "trigger.waitsFor.other":
    "It waits for {runs} to end: {dagId} runs at most {count} runs at a time (its maxActiveRuns). It shows as queued in the grid meanwhile.",
  "trigger.waitRun": "{runId} ({state})",
  "trigger.waitRunScheduled": "{runId} ({state}, created by the schedule)",
  "trigger.formTitle": "Trigger {dagId} with config",
  "trigger.confLabel": "Conf (JSON: overrides the params)",
  "trigger.confAria": "conf (JSON)",
  "trigger.dateLabel": "Logical date (UTC; empty: now)",
  "trigger.datePlaceholder": "now (e.g. {example})",
  "trigger.cancel": "Cancel",
  "trigger.noOutputs": "(the DAG declares none)",
  "trigger.confNotObject": "the conf must be a JSON object",
  "trigger.confNotJson": "the conf is not JSON: {error}",

  // --- a DAG: its head and tabs ---------------------------------------------------------------------------
  "dag.tabGrid": "Grid",
  "dag.tabGraph": "Graph",
  "dag.tabGantt": "Gantt",
  "dag.tabCode": "Code",
  "dag.tabDetails": "Details",
  "dag.schedule": "schedule: {schedule}",
  "dag.nextRun": "next run:",
  "dag.catchupOn": "catch-up on",
  "dag.catchupOff": "catch-up off",
  "dag.maxActiveRuns.one": "{count} run at a time",
  "dag.maxActiveRuns.other": "up to {count} runs at a time",
  "dag.file": "file:",
  "dag.noRuns": "No runs yet.",

  // --- the grid -------------------------------------------------------------------------------------------
  "grid.empty": "No runs yet: press Trigger, or turn the DAG ON.",
  "grid.cornerDate": "logical date (UTC)",
  "grid.cornerType": "and type",
  "grid.cornerDuration": "duration",
  "grid.runLogicalDate": "logical date {date}",
  "grid.runStarted": "started {date}",
  "grid.runNotStarted": "not started yet",
  "grid.runEnded": "ended {date}",
  "grid.runDuration": "duration {duration}",
  "grid.runDurationSoFar": "duration {duration} so far",
  "grid.cellTitle": "{taskId} in {runId}: {state}",
  "legend.states": "States:",
  "legend.runs": "Runs:",
  "legend.barHeight": "bar height: duration",
  "legend.running": "running (moving stripes)",
  "legend.queued": "queued (not started)",

  // --- the graph and the Gantt chart ----------------------------------------------------------------------
  "graph.statesIn": "Task states in {runId} ({state})",
  "graph.noRuns": "No runs yet: the task graph.",
  "graph.nodeTitle": "{taskId}: {state} (trigger rule {rule})",
  "gantt.title": "Gantt of {runId} ({state})",
  "gantt.nothingStarted": "No task has started in this run yet.",
  "chart.timeUtc": "time (UTC)",
  // Plotly's own words (its modebar's tooltips): the English are Plotly's keys, exactly (client/pages.ts).
  "plotly.downloadPng": "Download plot as a PNG",
  "plotly.zoom": "Zoom",
  "plotly.pan": "Pan",
  "plotly.boxSelect": "Box Select",
  "plotly.lassoSelect": "Lasso Select",
  "plotly.zoomIn": "Zoom in",
  "plotly.zoomOut": "Zoom out",
  "plotly.autoscale": "Autoscale",
  "plotly.resetAxes": "Reset axes",
  "plotly.spikeLines": "Toggle Spike Lines",
  "plotly.closest": "Show closest data on hover",
  "plotly.compare": "Compare data on hover",
  "plotly.doubleClickZoom": "Double-click to zoom back out",
  "plotly.doubleClickLegend": "Double-click on legend to isolate one trace",

  // --- a run's details --------------------------------------------------------------------------------------
  "run.id": "run id",
  "run.state": "state",
  "run.type": "type",
  "run.logicalDate": "logical date",
  "run.stamp": "files stamped",
  "run.outputs": "dated files",
  "run.noOutputs": "(none declared)",
  "run.dataInterval": "data interval",
  "run.started": "started",
  "run.ended": "ended",
  "run.conf": "conf",
  "run.taskInstances": "Task instances",
  "ti.task": "task",
  "ti.state": "state",
  "ti.try": "try",
  "ti.duration": "duration",
  "ti.result": "returned / error",
  "ti.log": "log",
  "ti.actions": "actions",
  "action.clear": "Clear",
  "action.clearTitle": "Run this task and its downstream tasks again (Airflow's Clear)",
  "action.success": "Mark success",
  "action.failed": "Mark failed",
  "action.stop": "Stop",
  "action.stopTitle": "End this try now: it fails, without retry",
  "action.confirmClear": "Clear {taskId} and its downstream tasks in run {runId}? They run again.",
  "action.confirmStop": "Stop the try of {taskId} in run {runId}? It ends failed, without retry.",
  "action.done.one": "{taskId}: {action} done ({count} task instance changed)",
  "action.done.other": "{taskId}: {action} done ({count} task instances changed)",
  "action.failedToast": "{action} failed: {reason}",
  "action.setBy": "set by {user}",

  // --- a try's log --------------------------------------------------------------------------------------
  "log.title": "{taskId} log",
  "log.tries": "Tries:",
  "log.noTry": "No try has started yet (the task is {state}).",
  "log.ended": "try {n}: ended",
  "log.following": "try {n}: following live…",
  "log.earlier": "Show earlier lines ({kb} kB before)",

  // --- predictions ----------------------------------------------------------------------------------------
  "predictions.intro": "The dated CSVs written by the predict DAG (columns predictions, predictions_time).",
  "predictions.latestTitle": "Latest predictions over the training target's distribution",
  "predictions.overTime": "Predictions over time",
  "predictions.files": "Files",
  "predictions.colFile": "file",
  "predictions.colTime": "time (UTC)",
  "predictions.colSize": "size",
  "predictions.empty": "No predictions yet: trigger the predict DAG.",
  "predictions.bytes": "{n} B",
  "predictions.targetTrace": "training target Ba_avg (model {model})",
  "predictions.densityHover": "{x} deg: density {y}",
  "predictions.degHover": "{x} deg",
  "predictions.noHistogram":
    "The latest model has no training-target distribution (trained by an older windflow): train it again to see it here.",
  "predictions.latestTrace": "latest predictions ({file})",
  "predictions.pitchAxis": "pitch angle Ba_avg (deg)",
  "predictions.density": "density",
  "predictions.trace": "predictions",
  "predictions.runAxis": "run (UTC)",
  "predictions.predictedAxis": "predicted Ba_avg (deg)",
  "predictions.rows.one": "{count} row",
  "predictions.rows.other": "{count} rows",
  "predictions.truncated": "(the first ones shown)",

  // --- models -----------------------------------------------------------------------------------------------
  "models.intro":
    "Test: the last rows of the features in time order (10 % by default), never trained on nor used to choose the epoch. Validation: the rows just before them, on which early stopping chose the epoch (optimistic). Baseline: always predicting the training mean. Rows: training + validation + test. A model is named after the logical date of the run that trained it (a scheduled run's interval start, in the past); created is when it was trained.",
  "models.colModel": "model",
  "models.colCreated": "created",
  "models.colTestRmse": "test RMSE",
  "models.colTestMae": "test MAE",
  "models.colTestR2": "test R²",
  "models.colBaselineRmse": "baseline RMSE",
  "models.colValidationRmse": "validation RMSE",
  "models.colRows": "rows",
  "models.colEpochs": "epochs (best)",
  "models.colTraining": "training",
  "models.colBackend": "backend",
  "models.empty": "No models yet: trigger the train DAG.",
  "models.latest": "latest",
  "models.validationOnly": "trained before the test split: validation rows only",

  // --- account --------------------------------------------------------------------------------------------
  "account.heading": "Change your password",
  "account.current": "Current password",
  "account.new": "New password (at least 8 characters)",
  "account.again": "New password again",
  "account.submit": "Change the password",
  "account.differ": "The two new passwords differ.",
  "account.changed": "Password changed.",
  "account.wrongCurrent": "the current password is not right: type your current password",
  "account.tooMany": "too many wrong passwords: try again in {seconds} s",
} as const satisfies Record<string, string>;

/** A message's name. */
export type MessageKey = keyof typeof EN;

export const FR: Record<MessageKey, string> = {
  "nav.dags": "DAG",
  "nav.predictions": "Prédictions",
  "nav.models": "Modèles",
  "nav.api": "API",
  "nav.account": "Compte",
  "header.schedulerTitle": "état du scheduler",
  "header.accountTitle": "changer votre mot de passe",
  "header.signOut": "Se déconnecter",
  "lang.switch": "Langue",
  "lang.switchTo": "Afficher les pages en {language}",
  "error.title": "Erreur",
  "error.notFound": "Page introuvable",
  "error.noPage": "Aucune page {path}.",
  "error.back": "Retour aux DAG",
  "error.internal": "erreur interne : {message}",
  "error.unreachable": "le serveur web ne répond pas : windflow tourne-t-il encore ?",
  "error.readOnly": "votre compte ne peut que consulter : demandez à un admin le rôle user, op ou admin",
  "error.csrf": "la page n'est plus à jour : rechargez-la",

  "login.title": "Connexion",
  "login.heading": "Se connecter à windflow",
  "login.username": "Nom d'utilisateur",
  "login.password": "Mot de passe",
  "login.submit": "Se connecter",
  "login.firstAccount":
    "Première connexion ? Connectez-vous en tant que {user} avec le mot de passe {password} (le compte de la formation), puis changez ce mot de passe sur la page Compte.",
  "login.noAccount": "Pas de compte ? Demandez-le à votre formateur, ou lancez {command} dans un terminal.",
  "login.wrong": "nom d'utilisateur ou mot de passe incorrect",
  "login.expired": "le formulaire de connexion a expiré : réessayez",
  "login.tooMany": "trop de connexions échouées : réessayez dans {seconds} s",
  "banner.defaultPassword":
    "Le compte {user} a encore son mot de passe par défaut : quiconque connaît la formation peut se connecter. {change}, ou lancez {command}.",
  "banner.changeIt": "Changez-le",

  "scheduler.badgeRunning": "scheduler : en marche",
  "scheduler.badgeDown": "scheduler : arrêté",
  "scheduler.never":
    "Aucun scheduler n'a encore tourné : les DAG que vous activez ou déclenchez attendent qu'il démarre (`windflow scheduler`).",
  "scheduler.running": "Le scheduler tourne sur {host}.",
  "scheduler.stopped":
    "Le scheduler ne tourne pas (arrêté il y a {ago}) : les exécutions attendent qu'il redémarre (`windflow scheduler`).",
  "scheduler.silent":
    "Le scheduler ne tourne pas (dernier heartbeat il y a {ago}) : les exécutions attendent qu'il redémarre (`windflow scheduler`).",

  "state.success": "success (réussie)",
  "state.failed": "failed (en échec)",
  "state.running": "running (en cours)",
  "state.queued": "queued (en file d'attente)",
  "state.scheduled": "scheduled (planifiée)",
  "state.up_for_retry": "up for retry (à réessayer)",
  "state.upstream_failed": "upstream failed (échec en amont)",
  "state.skipped": "skipped (sautée)",
  "state.none": "none (pas encore d'état)",
  "runType.manual": "manual (manuelle)",
  "runType.scheduled": "scheduled (planifiée)",
  "runType.manualTitle":
    "exécution manual (manuelle) : déclenchée (Déclencher, Déclencher avec une config, l'API ou la CLI)",
  "runType.scheduledTitle":
    "exécution scheduled (planifiée) : créée par la planification, pour un intervalle terminé",
  "runType.unknown": "exécution {type}",

  "schedule.manualOnly": "manuelle uniquement",
  "schedule.every": "toutes les {every}",

  "dags.colOnOff": "Actif",
  "dags.colDag": "DAG",
  "dags.colSchedule": "Planification",
  "dags.colLastRun": "Dernière exécution",
  "dags.colNextRun": "Prochaine exécution",
  "dags.colActions": "Actions",
  "dags.brokenTitle.one": "DAG en erreur :",
  "dags.brokenTitle.other": "DAG en erreur :",
  "dags.empty": "Aucun DAG pour l'instant : placez des fichiers de DAG dans le dossier des DAG.",
  "dags.never": "jamais",
  "dags.paused": "(en pause)",
  "next.title":
    "pour l'intervalle qui commence le {date} (sa date logique) : une exécution planifiée couvre un intervalle et démarre une fois cet intervalle terminé",
  "next.for": "pour le {date}",
  "next.dueNow": "imminente",
  "next.at": "le {date}",
  "next.interval": "(intervalle depuis le {date})",

  "switch.on": "actif",
  "switch.off": "en pause",
  "switch.aria": "{dagId} actif ou en pause",
  "switch.title":
    "Actif : le scheduler crée les exécutions planifiées de ce DAG et lance ses exécutions déclenchées. En pause : aucune nouvelle exécution planifiée n'est créée et rien de nouveau ne démarre (les exécutions déclenchées attendent) ; les tâches déjà en cours se terminent.",
  "switch.offToast":
    "{dagId} est en pause : aucune nouvelle exécution ne démarre ; les tâches en cours se terminent.",
  "switch.onCreatesToast":
    "{dagId} est actif. Le scheduler crée maintenant son exécution pour l'intervalle du {start} au {end}{more} : une exécution planifiée couvre un intervalle terminé (Airflow fait de même). Inutile d'appuyer sur Déclencher pour elle.",
  "switch.onCreatesMore": ", puis celles des autres intervalles manqués (rattrapage activé)",
  "switch.onToast":
    "{dagId} est actif : sa prochaine exécution planifiée viendra quand son prochain intervalle sera terminé.",
  "trigger.button": "Déclencher",
  "trigger.withConfig": "Déclencher avec une config",
  "trigger.done": "{dagId} déclenché : {runId}, fichiers horodatés {stamp}{outputs}.",
  "trigger.failed": "Échec du déclenchement : {reason}",
  "trigger.pausedNote": "Le DAG {dagId} est en pause : l'exécution attend que vous l'activiez.",
  "trigger.waitsFor.one":
    "Elle attend la fin de {runs} : {dagId} fait au plus {count} exécution à la fois (son maxActiveRuns). En attendant, la grille la montre queued.",
  "trigger.waitsFor.other":
    "Elle attend la fin de {runs} : {dagId} fait au plus {count} exécutions à la fois (son maxActiveRuns). En attendant, la grille la montre queued.",
  "trigger.waitRun": "{runId} ({state})",
  "trigger.waitRunScheduled": "{runId} ({state}, créée par la planification)",
  "trigger.formTitle": "Déclencher {dagId} avec une config",
  "trigger.confLabel": "Conf (JSON : remplace les params)",
  "trigger.confAria": "conf de l'exécution (JSON)",
  "trigger.dateLabel": "Date logique (UTC ; vide : maintenant)",
  "trigger.datePlaceholder": "maintenant (par ex. {example})",
  "trigger.cancel": "Annuler",
  "trigger.noOutputs": "(le DAG n'en déclare aucun)",
  "trigger.confNotObject": "la conf doit être un objet JSON",
  "trigger.confNotJson": "la conf n'est pas du JSON : {error}",

  "dag.tabGrid": "Grille",
  "dag.tabGraph": "Graphe",
  "dag.tabGantt": "Gantt",
  "dag.tabCode": "Code",
  "dag.tabDetails": "Détails",
  "dag.schedule": "planification : {schedule}",
  "dag.nextRun": "prochaine exécution :",
  "dag.catchupOn": "rattrapage (catchup) activé",
  "dag.catchupOff": "rattrapage (catchup) désactivé",
  "dag.maxActiveRuns.one": "{count} exécution à la fois",
  "dag.maxActiveRuns.other": "jusqu'à {count} exécutions à la fois",
  "dag.file": "fichier :",
  "dag.noRuns": "Pas encore d'exécution.",

  "grid.empty": "Pas encore d'exécution : appuyez sur Déclencher, ou activez le DAG.",
  "grid.cornerDate": "date logique (UTC)",
  "grid.cornerType": "et type",
  "grid.cornerDuration": "durée",
  "grid.runLogicalDate": "date logique {date}",
  "grid.runStarted": "démarrée le {date}",
  "grid.runNotStarted": "pas encore démarrée",
  "grid.runEnded": "terminée le {date}",
  "grid.runDuration": "durée {duration}",
  "grid.runDurationSoFar": "durée {duration} jusqu'ici",
  "grid.cellTitle": "{taskId} dans {runId} : {state}",
  "legend.states": "États :",
  "legend.runs": "Exécutions :",
  "legend.barHeight": "hauteur de la barre : durée",
  "legend.running": "running (rayures animées)",
  "legend.queued": "queued (pas encore démarrée)",

  "graph.statesIn": "États des tâches dans {runId} ({state})",
  "graph.noRuns": "Pas encore d'exécution : le graphe des tâches.",
  "graph.nodeTitle": "{taskId} : {state} (règle de déclenchement {rule})",
  "gantt.title": "Gantt de {runId} ({state})",
  "gantt.nothingStarted": "Aucune tâche n'a encore démarré dans cette exécution.",
  "chart.timeUtc": "heure (UTC)",
  "plotly.downloadPng": "Télécharger le graphique en PNG",
  "plotly.zoom": "Zoomer",
  "plotly.pan": "Déplacer",
  "plotly.boxSelect": "Sélection rectangulaire",
  "plotly.lassoSelect": "Sélection au lasso",
  "plotly.zoomIn": "Zoom avant",
  "plotly.zoomOut": "Zoom arrière",
  "plotly.autoscale": "Échelle automatique",
  "plotly.resetAxes": "Réinitialiser les axes",
  "plotly.spikeLines": "Afficher ou masquer les lignes de repère",
  "plotly.closest": "Au survol : la donnée la plus proche",
  "plotly.compare": "Au survol : comparer les données",
  "plotly.doubleClickZoom": "Double-cliquez pour revenir au zoom initial",
  "plotly.doubleClickLegend": "Double-cliquez sur la légende pour isoler une courbe",

  "run.id": "id d'exécution",
  "run.state": "état",
  "run.type": "type",
  "run.logicalDate": "date logique",
  "run.stamp": "horodatage des fichiers",
  "run.outputs": "fichiers datés",
  "run.noOutputs": "(aucun déclaré)",
  "run.dataInterval": "intervalle de données",
  "run.started": "début",
  "run.ended": "fin",
  "run.conf": "conf",
  "run.taskInstances": "Instances de tâche",
  "ti.task": "tâche",
  "ti.state": "état",
  "ti.try": "essai",
  "ti.duration": "durée",
  "ti.result": "valeur renvoyée / erreur",
  "ti.log": "log",
  "ti.actions": "actions",
  "action.clear": "Effacer",
  "action.clearTitle": "Relancer cette tâche et les tâches en aval (le Clear d'Airflow)",
  "action.success": "Marquer success",
  "action.failed": "Marquer failed",
  "action.stop": "Arrêter",
  "action.stopTitle": "Terminer cet essai maintenant : il échoue, sans nouvel essai",
  "action.confirmClear":
    "Effacer {taskId} et ses tâches en aval dans l'exécution {runId} ? Elles seront relancées.",
  "action.confirmStop":
    "Arrêter l'essai de {taskId} dans l'exécution {runId} ? Il se termine en échec, sans nouvel essai.",
  "action.done.one": "{taskId} : {action} fait ({count} instance de tâche modifiée)",
  "action.done.other": "{taskId} : {action} fait ({count} instances de tâche modifiées)",
  "action.failedToast": "{action} a échoué : {reason}",
  "action.setBy": "modifié par {user}",

  "log.title": "Log de {taskId}",
  "log.tries": "Essais :",
  "log.noTry": "Aucun essai n'a encore démarré (la tâche est {state}).",
  "log.ended": "essai {n} : terminé",
  "log.following": "essai {n} : suivi en direct…",
  "log.earlier": "Afficher les lignes précédentes ({kb} ko avant)",

  "predictions.intro": "Les CSV datés écrits par le DAG predict (colonnes predictions, predictions_time).",
  "predictions.latestTitle": "Dernières prédictions sur la distribution de la cible d'entraînement",
  "predictions.overTime": "Prédictions au fil du temps",
  "predictions.files": "Fichiers",
  "predictions.colFile": "fichier",
  "predictions.colTime": "heure (UTC)",
  "predictions.colSize": "taille",
  "predictions.empty": "Pas encore de prédictions : déclenchez le DAG predict.",
  "predictions.bytes": "{n} o",
  "predictions.targetTrace": "cible d'entraînement Ba_avg (modèle {model})",
  "predictions.densityHover": "{x}° : densité {y}",
  "predictions.degHover": "{x}°",
  "predictions.noHistogram":
    "Le dernier modèle n'a pas de distribution de la cible d'entraînement (entraîné par une version plus ancienne de windflow) : entraînez-le à nouveau pour la voir ici.",
  "predictions.latestTrace": "dernières prédictions ({file})",
  "predictions.pitchAxis": "angle de calage Ba_avg (°)",
  "predictions.density": "densité",
  "predictions.trace": "prédictions",
  "predictions.runAxis": "exécution (UTC)",
  "predictions.predictedAxis": "Ba_avg prédit (°)",
  "predictions.rows.one": "{count} ligne",
  "predictions.rows.other": "{count} lignes",
  "predictions.truncated": "(les premières seulement)",

  "models.intro":
    "Test : les dernières lignes des features dans l'ordre du temps (10 % par défaut), jamais vues à l'entraînement ni pour choisir l'époque. Validation : les lignes juste avant, sur lesquelles l'early stopping a choisi l'époque (score optimiste). Référence : toujours prédire la moyenne d'entraînement. Lignes : entraînement + validation + test. Un modèle porte la date logique de l'exécution qui l'a entraîné (le début de l'intervalle d'une exécution planifiée, dans le passé) ; « créé le » dit quand il a été entraîné.",
  "models.colModel": "modèle",
  "models.colCreated": "créé le",
  "models.colTestRmse": "RMSE test",
  "models.colTestMae": "MAE test",
  "models.colTestR2": "R² test",
  "models.colBaselineRmse": "RMSE référence",
  "models.colValidationRmse": "RMSE validation",
  "models.colRows": "lignes",
  "models.colEpochs": "époques (meilleure)",
  "models.colTraining": "entraînement",
  "models.colBackend": "backend",
  "models.empty": "Pas encore de modèle : déclenchez le DAG train.",
  "models.latest": "dernier",
  "models.validationOnly": "entraîné avant la séparation test : lignes de validation seulement",

  "account.heading": "Changer votre mot de passe",
  "account.current": "Mot de passe actuel",
  "account.new": "Nouveau mot de passe (8 caractères au moins)",
  "account.again": "Nouveau mot de passe, une seconde fois",
  "account.submit": "Changer le mot de passe",
  "account.differ": "Les deux nouveaux mots de passe diffèrent.",
  "account.changed": "Mot de passe changé.",
  "account.wrongCurrent": "le mot de passe actuel n'est pas le bon : tapez votre mot de passe actuel",
  "account.tooMany": "trop de mots de passe erronés : réessayez dans {seconds} s",
};

/**
 * Keys whose French is the English, on purpose (tests/i18n.test.ts checks that no other French string is a
 * copy of the English, and that these still are).
 */
export const SAME_IN_FRENCH: ReadonlySet<MessageKey> = new Set<MessageKey>([
  "nav.api", // a product word
  "dags.colDag", // the course's word
  "dags.colActions", // the French word is the same
  "dag.tabGantt", // a chart's name
  "dag.tabCode", // the French word is the same
  "run.type", // the French word is the same
  "run.conf", // Airflow's word (dag_run.conf)
  "ti.log", // the word French trainers use
  "ti.actions", // the French word is the same
  "models.colBackend", // TensorFlow.js's word
  "trigger.waitRun", // values only
]);
