/** Preview environments of branches and pull requests: names, their lifecycle, clean-up, and what a change touches. */
export { previewName, previewNameCandidates, isPullRequestName, type PreviewNameInput } from './naming.js';
export { watchedWorkspaces, changedServices } from './watch-inputs.js';
export { PreviewManager, type PreviewTarget, type OpenedPreview, type DestroyReport, type OrphanReport, type GcReport, type PreviewManagerOptions } from './manager.js';
export type { PreviewEffects, PreviewFolders, ReplicaRef, RoutedHost } from './effects.js';
export { controlPlaneEffects } from './plane-effects.js';
export { previewView, type PreviewView } from './views.js';
export { settingsView, settingsPatch, durationText, durationWithin, checkBranchName, type SettingsInput, type SettingsView } from './settings-input.js';
