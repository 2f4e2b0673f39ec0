import { runService } from '@mosaic/shared-service';
import { collectorDefinition } from './collector.definition';

runService(collectorDefinition);
