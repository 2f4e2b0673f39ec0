import { runService } from '@mosaic/shared-service';
import { EnrichmentModule } from './app.module';

runService({ service: 'enrichment', module: () => EnrichmentModule, openApi: { title: 'Mosaic enrichment', description: 'Profile enrichment (planned, issue 5): consumes nothing yet.' } });
