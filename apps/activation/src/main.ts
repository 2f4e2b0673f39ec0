import { runService } from '@mosaic/shared-service';
import { activationDefinition } from './activation.definition';

runService(activationDefinition);
