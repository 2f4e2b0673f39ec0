import { runService } from '@mosaic/shared-service';
import { consoleDefinition } from './console.definition';

runService(consoleDefinition);
