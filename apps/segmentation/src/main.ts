import { runService } from '@mosaic/shared-service';
import { SegmentationModule } from './app.module';

runService({ service: 'segmentation', module: () => SegmentationModule, openApi: { title: 'Mosaic segmentation', description: 'Segmentation (planned, issue 6): consumes nothing yet.' } });
