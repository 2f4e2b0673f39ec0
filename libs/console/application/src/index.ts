export * from './sign-in.use-case';
export * from './resolve-session.use-case';
export * from './create-user.use-case';
export * from './delete-user.use-case';
export * from './bootstrap-admin.use-case';
export * from './forward-request.use-case';
export * from './replay-dead-letter.use-case';
