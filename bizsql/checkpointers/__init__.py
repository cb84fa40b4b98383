"""Conversation memory: a Redis-first, MongoDB-durable LangGraph checkpointer that loses no turn."""

from bizsql.checkpointers.aio import AsyncRedisMongoSaver
from bizsql.checkpointers.redis_mongo import RedisMongoSaver

__all__ = ["AsyncRedisMongoSaver", "RedisMongoSaver"]
