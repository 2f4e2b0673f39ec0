import { runService } from '@mosaic/shared-service';
import { ActivationModule } from './app.module';

runService({ service: 'activation', module: () => ActivationModule, openApi: { title: 'Mosaic activation', description: 'Activation and the decision API (planned, issue 7): consumes nothing yet.' } });
