import { Controller, Get, HttpCode, Inject, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ClusteringRun } from '@mosaic/segmentation-application';
import type { ClusterSummary } from '@mosaic/segmentation-data-access';
import { AdminAuthGuard } from '@mosaic/shared-service';
import { SegmentationService } from './segmentation.service';

/** The clustering job: its last clusters, and a run on demand. */
@ApiTags('clusters (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminAuthGuard)
@Controller('v1/clusters')
export class ClustersController {
  constructor(@Inject(SegmentationService) private readonly segmentation: SegmentationService) {}

  @Get()
  @ApiOperation({ summary: "The last clustering run's clusters: segment key, size, description of the centroid" })
  async list(): Promise<{ job: string; clusters: ClusterSummary[] }> {
    return { job: this.segmentation.clustering.job, clusters: await this.segmentation.clustering.last() };
  }

  @Post('run')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Run the clustering job now (it also runs every SEGMENTATION_CLUSTER_INTERVAL_SECONDS); `ran: false` when another instance holds it or there are fewer profiles than clusters',
  })
  run(): Promise<ClusteringRun> {
    return this.segmentation.clustering.runOnce();
  }
}
