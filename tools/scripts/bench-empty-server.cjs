// The benchmark's "empty handler": the same framework as the services (Nest on Fastify),
// parsing the JSON body and answering {success:true}. Prints its URL.
require('reflect-metadata');
const { Controller, Module, Post, HttpCode, Body } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');

class EmptyController {
  track(_body) {
    return { success: true };
  }
}
Reflect.decorate([Post('track'), HttpCode(200)], EmptyController.prototype, 'track', Object.getOwnPropertyDescriptor(EmptyController.prototype, 'track'));
Body()(EmptyController.prototype, 'track', 0);
Reflect.decorate([Controller('v1')], EmptyController);
class EmptyModule {}
Reflect.decorate([Module({ controllers: [EmptyController] })], EmptyModule);

(async () => {
  const app = await NestFactory.create(EmptyModule, new FastifyAdapter({ logger: false, bodyLimit: 512000 }), { logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.getHttpAdapter().getInstance().server.address();
  console.log(`LISTENING http://127.0.0.1:${addr.port}`);
  process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
})();
