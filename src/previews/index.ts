/** Preview environments of branches and pull requests: names, their lifecycle, clean-up, and what a change touches. */
export { previewName, previewNameCandidates, isPullRequestName, type PreviewNameInput } from './naming.js';
export { watchedWorkspaces, changedServices } from './watch-inputs.js';
