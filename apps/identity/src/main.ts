import { runService } from '@mosaic/shared-service';
import { identityDefinition } from './identity.definition';

runService(identityDefinition);
