import { runService } from '@mosaic/shared-service';
import { ActivationModule } from './app.module';

runService({
  service: 'activation',
  module: () => ActivationModule,
  openApi: { title: 'Mosaic activation', description: 'Activation and the decision API (planned, issue 7): consumes nothing yet.' },
  // The decision API is called from browsers on any site (the tracker's decide()): answers,
  // 404s included, carry CORS headers so the tracker can fall back to default content.
  http: { configureApp: (app) => app.enableCors({ origin: true, methods: ['GET', 'POST', 'OPTIONS'], allowedHeaders: ['Content-Type', 'Authorization'], maxAge: 86_400 }) },
});
