import { ApiProperty } from '@nestjs/swagger';
import { ROLES } from '@mosaic/console-domain';
import { UserView } from './session.dto';

export class NewUserDto {
  @ApiProperty({ example: 'ada', description: '3–64 characters of a-z 0-9 . _ @ -' }) username!: string;
  @ApiProperty({ minLength: 12 }) password!: string;
  @ApiProperty({ enum: ROLES }) role!: string;
}

export class UserResponse extends UserView {
  @ApiProperty({ example: '2026-12-06T10:00:00.000Z' }) createdAt!: string;
}

export class UserListResponse {
  @ApiProperty({ type: [UserResponse] }) users!: UserResponse[];
}
