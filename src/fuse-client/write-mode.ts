/** How the mount commits: behind close() from a local staging journal, or at each close(). */
export type WriteMode = 'writeback' | 'sync';
export const WRITE_MODES: readonly WriteMode[] = ['writeback', 'sync'];
