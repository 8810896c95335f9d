export * from './remote-exports';
export * from './reader-role';
export * from './service';
export * from './live';
