import { runService } from '@mosaic/shared-service';
import { enrichmentDefinition } from './enrichment.definition';

runService(enrichmentDefinition);
