import { runService } from '@mosaic/shared-service';
import { segmentationDefinition } from './segmentation.definition';

runService(segmentationDefinition);
