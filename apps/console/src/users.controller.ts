import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { validateNewUser } from '@mosaic/console-domain';
import { CreateUser, DeleteUser } from '@mosaic/console-application';
import { ConsoleUsersRepository } from '@mosaic/console-data-access';
import { ApiError, MOSAIC_LOGGER, invalidInput } from '@mosaic/shared-service';
import type { Logger } from '@mosaic/shared-logging';
import { AdminGuard } from './console-auth.guard';
import { NewUserDto, UserListResponse, UserResponse } from './users.dto';
import type { ConsoleRequest } from './session-cookie';

/** Console users (admins only, or the admin token for the CLI). */
@ApiTags('users (admin)')
@ApiBearerAuth('admin')
@UseGuards(AdminGuard)
@Controller('api/users')
export class UsersController {
  constructor(
    @Inject(ConsoleUsersRepository) private readonly users: ConsoleUsersRepository,
    @Inject(CreateUser) private readonly createUser: CreateUser,
    @Inject(DeleteUser) private readonly deleteUser: DeleteUser,
    @Inject(MOSAIC_LOGGER) private readonly logger: Logger,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every console user, by username' })
  @ApiOkResponse({ type: UserListResponse })
  async list(): Promise<UserListResponse> {
    const users = await this.users.list();
    return { users: users.map((u) => ({ username: u.username, role: u.role, createdAt: u.createdAt.toISOString() })) };
  }

  @Post()
  @ApiOperation({ summary: 'Create a user; 400 naming the bad field, 409 user_exists' })
  @ApiBody({ type: NewUserDto })
  @ApiCreatedResponse({ type: UserResponse })
  async create(@Req() req: ConsoleRequest, @Body() body: unknown): Promise<UserResponse> {
    const input = validateNewUser(body);
    if (!input.ok) throw invalidInput('user', input.errors);
    const r = await this.createUser.execute(input.value);
    if (!r.ok) throw new ApiError(409, 'user_exists', `user ${input.value.username} exists`);
    this.logger.info({ username: r.user.username, role: r.user.role, by: req.consoleUser?.username }, 'console user created');
    return { username: r.user.username, role: r.user.role, createdAt: r.user.createdAt.toISOString() };
  }

  @Delete(':username')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user and their sessions; 409 last_admin when it would remove the last admin' })
  async remove(@Req() req: ConsoleRequest, @Param('username') username: string): Promise<void> {
    const r = await this.deleteUser.execute(username);
    if (!r.ok && r.reason === 'not_found') throw new ApiError(404, 'not_found', `no user ${username}`);
    if (!r.ok) throw new ApiError(409, 'last_admin', `${username} is the last admin: make another admin first`);
    this.logger.info({ username, by: req.consoleUser?.username }, 'console user deleted');
  }
}
