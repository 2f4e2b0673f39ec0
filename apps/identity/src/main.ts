import { runService } from '@mosaic/shared-service';
import { IdentityModule } from './app.module';

runService({ service: 'identity', module: () => IdentityModule, openApi: { title: 'Mosaic identity', description: 'Identity resolution (planned, issue 4): consumes nothing yet.' } });
